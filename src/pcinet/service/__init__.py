"""The controller's service layer: what the API (and the benchmarks) call.

Each public function takes the ``Controller`` (settings, database, snapshot cache), the
``Caller`` (project and role of the token) and plain JSON-shaped input, validates it with
the core's parsers (errors name the property), runs ONE unit of work, and returns the
API's JSON view. Authorization (roles, tenant isolation) is decided here, not in the API.
"""
