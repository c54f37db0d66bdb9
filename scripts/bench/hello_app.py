"""A bare Flask app answering "hello": load.py's yardstick, served with the same gunicorn settings as LearnSpace."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    """Return a constant page: what the server and framework cost without any of LearnSpace's work."""
    return "hello"
