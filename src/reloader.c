/* reloader.c - inotify watches on the app's source files. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "reloader.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define WATCH_MASK (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)

typedef struct {
    int wd;
    char *path;
} watch;

struct cg_reloader {
    int fd;
    watch *watches;
    size_t n, cap;
    char changed[PATH_MAX];
};

cg_reloader_t *cg_reloader_new(void)
{
    cg_reloader_t *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (r->fd < 0) {
        free(r);
        return NULL;
    }
    return r;
}

void cg_reloader_free(cg_reloader_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->watches[i].path);
    free(r->watches);
    close(r->fd);
    free(r);
}

int cg_reloader_fd(const cg_reloader_t *r)
{
    return r->fd;
}

/* Watch one file (once). */
static void add(cg_reloader_t *r, const char *path)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->watches[i].path, path) == 0)
            return;
    int wd = inotify_add_watch(r->fd, path, WATCH_MASK);
    if (wd < 0)
        return; /* gone, or not ours to watch */
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        watch *w = realloc(r->watches, cap * sizeof(*w));
        if (w == NULL)
            return;
        r->watches = w;
        r->cap = cap;
    }
    r->watches[r->n].wd = wd;
    r->watches[r->n].path = strdup(path);
    if (r->watches[r->n].path)
        r->n++;
}

void cg_reloader_scan(cg_reloader_t *r, const char *const *extra, size_t nextra)
{
    PyObject *modules = PySys_GetObject("modules");             /* borrowed */
    PyObject *values = modules ? PyDict_Values(modules) : NULL; /* owned */

    for (Py_ssize_t i = 0; values && i < PyList_GET_SIZE(values); i++) {
        PyObject *f = PyObject_GetAttrString(PyList_GET_ITEM(values, i), "__file__");
        if (f && PyUnicode_Check(f)) {
            const char *path = PyUnicode_AsUTF8(f);
            if (path)
                add(r, path);
        }
        Py_XDECREF(f);
        PyErr_Clear();
    }
    Py_XDECREF(values);
    /* gunicorn 26 re-expands the glob patterns of reload_extra_files */
    for (size_t i = 0; i < nextra; i++) {
        glob_t g;
        if (glob(extra[i], GLOB_NOSORT, NULL, &g) == 0) {
            for (size_t k = 0; k < g.gl_pathc; k++)
                add(r, g.gl_pathv[k]);
            globfree(&g);
        } else {
            add(r, extra[i]);
        }
    }
}

const char *cg_reloader_changed(cg_reloader_t *r)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    const char *hit = NULL;

    while ((n = read(r->fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            for (size_t i = 0; i < r->n && hit == NULL; i++)
                if (r->watches[i].wd == ev->wd) {
                    snprintf(r->changed, sizeof(r->changed), "%s", r->watches[i].path);
                    hit = r->changed;
                }
            p += sizeof(struct inotify_event) + ev->len;
        }
    }
    return hit;
}
