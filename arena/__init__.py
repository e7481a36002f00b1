"""The Spatial Knowledge Arena: a Mesa model that routes intents to specialised zones."""
