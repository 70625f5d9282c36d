"""bottle_site.py - a small Bottle app for test_apps.c.

cgunicorn -w 2 -b 127.0.0.1:PORT bottle_site:app
"""
import os

from bottle import Bottle, abort, request, response, static_file

HERE = os.path.dirname(os.path.abspath(__file__))
app = Bottle()


@app.get("/")
def index():
    return "Hello from Bottle"


@app.get("/hello/<name>")
def hello(name):
    response.set_header("X-App", "bottle")
    response.set_cookie("seen", "yes")
    return "Hello %s, page %s" % (name, request.query.get("page", "1"))


@app.post("/form")
def form():
    return "name=%s tags=%s" % (request.forms.get("name"), ",".join(request.forms.getall("tag")))


@app.post("/json")
def json_echo():
    return {"json": request.json, "length": request.content_length}


@app.get("/static/<filename>")
def static(filename):
    return static_file(filename, root=os.path.join(HERE, "static"))


@app.get("/secret")
def secret():
    abort(404, "no such thing")


@app.get("/boom")
def boom():
    raise RuntimeError("bottle route failed on purpose")


@app.get("/stream")
def stream():
    response.content_type = "text/plain"
    for i in range(3):
        yield "line %d\n" % i
