"""django_site.py - a single-module Django project for test_apps.c.

cgunicorn -w 2 -b 127.0.0.1:PORT django_site:app
"""
import json

from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="cg-test-not-secret",
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    INSTALLED_APPS=[],
    TEMPLATES=[],
    USE_TZ=True,
    # DEBUG = False silences Django's console logging: send the 500s'
    # tracebacks to stderr (cgunicorn's error log), as projects do
    LOGGING={
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"console": {"class": "logging.StreamHandler"}},
        "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
    },
)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import (  # noqa: E402
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import path  # noqa: E402


def index(request):
    resp = HttpResponse("Hello from Django", content_type="text/plain")
    resp["X-App"] = "django"
    return resp


def echo(request):
    if request.method != "POST":
        return HttpResponse(status=405)
    body = request.body
    if request.content_type == "application/json":
        return JsonResponse({"json": json.loads(body), "length": len(body)})
    return JsonResponse({"form": dict(request.POST.items()), "length": len(body)})


def query(request):
    return JsonResponse({k: v for k, v in request.GET.lists()})


def headers(request):
    return JsonResponse(
        {
            "x_test": request.META.get("HTTP_X_TEST"),
            "underscored": sorted(k for k in request.META if "UNDER" in k),
        }
    )


def boom(request):
    raise RuntimeError("django view failed on purpose")


def stream(request):
    return StreamingHttpResponse(
        ("chunk %d\n" % i for i in range(5)), content_type="text/plain"
    )


urlpatterns = [
    path("", index),
    path("echo", echo),
    path("query", query),
    path("headers", headers),
    path("boom", boom),
    path("stream", stream),
]

app = get_wsgi_application()
