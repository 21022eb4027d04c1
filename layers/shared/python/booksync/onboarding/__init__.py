"""The post-connection wizard: import the provider's customers (classified, duplicates linked)
and items into booksync, then a summary (README "Post-connection wizard")."""
