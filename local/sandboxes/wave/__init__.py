"""The Wave sandbox: Wave's OAuth (a consent per business, refresh tokens that may rotate) and its
public GraphQL API validated against a schema written from the best offline basis, on the sandbox kit."""
