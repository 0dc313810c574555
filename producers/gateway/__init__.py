"""The webhook gateway: signed webhooks in, CloudEvents on the flows' ``src.*`` topics out.

``routes`` builds the route table from the flows that have a webhook source;
``app.create_app`` serves it from small pieces: ``limits`` (413), ``checks`` (415, 401, 400,
422), ``signature`` (signature schemes). Each flow brings its converter (body → record).
``producer`` keeps the Kafka producer patient with an absent broker, and ``runner`` serves it
all (``ferry gateway``).
"""
