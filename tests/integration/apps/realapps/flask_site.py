"""flask_site.py - a small Flask app for test_apps.c.

cgunicorn -w 2 -b 127.0.0.1:PORT flask_site:app
"""
from flask import Flask, Response, abort, jsonify, request

app = Flask(__name__)


@app.get("/")
def index():
    return "Hello from Flask", 200, {"X-App": "flask", "Content-Type": "text/plain"}


@app.post("/echo")
def echo():
    if request.is_json:
        return jsonify(json=request.get_json(), length=request.content_length)
    return jsonify(form=request.form.to_dict(), length=request.content_length)


@app.get("/query")
def query():
    return jsonify({k: request.args.getlist(k) for k in request.args})


@app.get("/secret")
def secret():
    abort(404)


@app.get("/boom")
def boom():
    raise RuntimeError("flask view failed on purpose")


@app.get("/stream")
def stream():
    return Response(("row %d\n" % i for i in range(4)), mimetype="text/plain")
