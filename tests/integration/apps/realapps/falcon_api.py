"""falcon_api.py - a small Falcon 3 API for test_apps.c.

cgunicorn -w 2 -b 127.0.0.1:PORT falcon_api:app
"""
import falcon


class Hello:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.set_header("X-App", "falcon")
        resp.text = "Hello from Falcon, %s" % req.get_param("name", default="world")


class Items:
    def on_post(self, req, resp):
        item = req.get_media()
        resp.status = falcon.HTTP_201
        resp.media = {"created": item, "length": req.content_length}


class Raw:
    def on_post(self, req, resp):
        data = req.bounded_stream.read()
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "%d:%s" % (len(data), data.decode()[::-1])


class Boom:
    def on_get(self, req, resp):
        raise RuntimeError("falcon resource failed on purpose")


class Stream:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.stream = (b"part %d\n" % i for i in range(4))


app = falcon.App()
app.add_route("/hello", Hello())
app.add_route("/items", Items())
app.add_route("/raw", Raw())
app.add_route("/boom", Boom())
app.add_route("/stream", Stream())
