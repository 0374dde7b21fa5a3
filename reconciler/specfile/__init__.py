"""The spec file: located loading, byte-exact edits, and the JSON Schemas generated from the
models.
"""
