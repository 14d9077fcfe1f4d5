"""Lambda handlers: the task runtime that wraps every user task, and the platform functions."""
