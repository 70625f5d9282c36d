# The tutorial's gunicorn.conf.py, line for line: the gevent worker
# (python3-gevent), and logs under /log (create it, or override with
# --access-logfile/--error-logfile).
import logging
import logging.handlers
from logging.handlers import WatchedFileHandler
import os
import multiprocessing
bind = '127.0.0.1:5000'      # bind address and port
backlog = 512                # listen queue
timeout = 30                 # worker timeout
worker_class = 'gevent'      # worker class: sync, gevent, ...

workers = multiprocessing.cpu_count() * 2 + 1    # number of worker processes
threads = 2                  # threads per worker
loglevel = 'info'            # log level (error log only)
access_log_format = '%(t)s %(p)s %(h)s "%(r)s" %(s)s %(L)s %(b)s %(f)s" "%(a)s"'
accesslog = "/log/access.log"  # access log file
errorlog = "/log/error.log"    # error log file
