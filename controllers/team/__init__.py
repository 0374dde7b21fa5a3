"""The team as a whole: the spec resolved into what controllers compare, the summary
conditions, `down`.
"""
