"""The `deepscreen` command line (typer). Heavy libraries are imported inside commands."""
