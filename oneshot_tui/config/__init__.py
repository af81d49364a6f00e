"""Task files, config files and flags, merged with precedence into task specs and run settings.

Precedence, highest first: a task's own keys > command-line flags > the task file's `[run]` >
`./oneshot-tui.toml` > the user's config file > built-in defaults.
"""

from oneshot_tui.config.errors import ConfigError
from oneshot_tui.config.loader import RunConfig, load_run_config, user_config_path

__all__ = ["ConfigError", "RunConfig", "load_run_config", "user_config_path"]
