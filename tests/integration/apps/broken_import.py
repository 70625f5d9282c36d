import module_that_does_not_exist  # noqa: F401  (the import fails: exit 3)


def app(environ, start_response):
    return []
