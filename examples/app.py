"""The tutorial's Flask app: GET /hello -> "Hello World!", GET / -> "nihao!".

    cgunicorn -w 3 -b 127.0.0.1:5000 app:app
"""
from flask import Flask

app = Flask(__name__)


@app.route('/')
def index():
    return 'nihao!'


@app.route('/hello')
def hello():
    return 'Hello World!'


if __name__ == '__main__':
    app.run()
