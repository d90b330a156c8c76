"""The baseline: the smallest Flask app, served exactly like todoapp."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
