"""Real local servers for the cloud backends, started by the test run on 127.0.0.1."""
