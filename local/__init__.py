"""Docker-free local stack: the runtime that reads template.yaml and the provider sandboxes."""
