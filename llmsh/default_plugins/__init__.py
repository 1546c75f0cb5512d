"""Built-in commands, job kinds and models, registered through the plugin hooks."""
