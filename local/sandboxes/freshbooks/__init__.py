"""The FreshBooks sandbox: FreshBooks' OAuth, identity (/users/me), accounting API and webhook
callbacks on loopback, built on the sandbox kit. README.md says which source each rule comes from."""
