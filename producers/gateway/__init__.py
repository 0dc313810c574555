"""The webhook gateway: signed shop webhooks in, CloudEvents on ``src.shop.orders`` out.

``app.create_app`` builds the ASGI app from small pieces: ``limits`` (413), ``checks`` (415,
401, 400, 422), ``shop`` (the pure conversion to ``shop.order.created``), ``signature``
(HMAC-SHA256). ``producer`` keeps the Kafka producer patient with an absent broker, and
``runner`` serves it all (``ferry gateway``).
"""
