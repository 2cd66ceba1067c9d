"""StudyMate: a Telegram bot for small schools, shipped as a self-supervising appliance."""

__version__ = "2.0.0.dev0"
