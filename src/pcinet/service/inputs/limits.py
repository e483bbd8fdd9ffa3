"""The API's input limits, in one place (docs/api.md lists them): every one is checked
before the database sees the input, the same on SQLite and PostgreSQL, and a breach is 400
``invalid_request`` naming the field and the limit (413 ``request_too_large`` for the
body). Nothing is silently cut."""

from __future__ import annotations

MAX_BODY_BYTES = 4 * 2**20  # a host report of ~16,000 devices fits
MAX_NAME = 255  # names, ids, project ids: what a database string column holds
MAX_DESCRIPTION = 255  # Neutron's description length
MAX_INT = 2**31 - 1  # what a database integer column holds
# A device's largest NUMA node: pcinet.core.schema.MAX_NUMA_NODE (a CLOUD file's too).
MAX_SERVER_PORTS = 64
MAX_SEGMENTS = 16
MAX_EXTRA_SPECS = 128
MAX_EXTRA_SPEC_TEXT = 255  # a key or a value, as in Nova
MAX_PROFILE_BYTES = 4095  # binding:profile as JSON (Neutron's column holds 4095)
MAX_DEVICES = 16384
MAX_NUMA_CELLS = 64
MAX_DEVICE_SPECS = 1024
MAX_ALIASES = 1024
MAX_OBJECT_BYTES = 4095  # a device spec entry, an alias entry, a device's tags, as JSON
MAX_DEPTH = 16  # nesting of free-form JSON (binding:profile, tags, device specs)
MAX_ERROR_TEXT = 300  # an error message or field name quotes at most this much
MAX_REPORT_ERROR = 4095  # an agent's error text in a status report
