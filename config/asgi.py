"""The ASGI application (uvicorn in production: `uvicorn config.asgi:application`)."""

import logging
import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

if settings.LOG_FORMAT == "json":
    # uvicorn sets up its own text handlers before it imports this module; hand its records to the
    # root logger instead, so its access and error lines come out as JSON like everything else.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
