"""The pure core: question banks, the conversation engine and the product's vocabulary.

No database, no network, no files but the packaged YAML: every function takes data and
returns data, so every channel and every test can use it as it is.
"""
