"""Configuration: suite files, the settings schema, suite validation, plug-ins and preflight."""
