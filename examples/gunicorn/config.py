# The tutorial's gunicorn/config.py:  cgunicorn -c gunicorn/config.py app:app
bind = "127.0.0.1:5000"
workers = 2
