"""StudyMate: a Telegram bot for small schools, shipped as a self-supervising appliance."""

from studymate.db import driver as _driver

__version__ = "2.0.0.dev0"

# Before anything imports peewee: psycopg2 then loads only where PostgreSQL is opened.
_driver.defer()
