"""The REST API (FastAPI): thin routers over ``pcinet.service``; see docs/api.md."""
