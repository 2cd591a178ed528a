"""Files: a local folder under instance/ by default, S3 through boto3 when configured.

``backends`` stores bytes under keys, ``checks`` decides what an upload really is (by its
content), ``service`` saves an upload as a ``StoredFile`` row plus its objects, and ``views``
serves them to the workspace's staff. Keys start with the tenant's id; nothing is public.
"""
