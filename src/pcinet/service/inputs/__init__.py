"""Request bodies as pydantic models: the structure and the limits of every input (the
core checks what the values mean). ``/openapi.json`` is generated from them."""
