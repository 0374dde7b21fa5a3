"""A mock model server of our own for the real agent CLIs, on 127.0.0.1 only.

Why our own: the packages on PyPI that mock model APIs (fakellm, llmock, mockllm, …) cover
OpenAI and Anthropic chat at most; none speaks the four wire formats the five CLIs use
(Anthropic Messages, OpenAI Responses, OpenAI Chat Completions, Gemini
streamGenerateContent), with tool calls picked from the request's own tool list and
scripted failures. `server.MockModel` is the server and its script; one module per wire
format (`anthropic`, `responses`, `chat`, `gemini`) turns a scripted `Reply` into that
format's stream.
"""
