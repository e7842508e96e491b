# No models. The module exists because Django sends post_migrate only to apps that have one,
# and core.apps needs that signal to grant the runtime role its privileges.
