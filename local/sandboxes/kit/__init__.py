"""The sandbox kit: what every provider sandbox is built from, whatever the provider.

``wire`` (a threaded socket server whose connections a fault can reset or hold), ``serving``
(loopback lifecycle, standalone entry points), ``pipeline`` (classify, log, inject a fault or
serve), ``faults`` (the rules), ``reqlog`` (the request log), ``clock`` (the scaled clock),
``oauth`` (app registrations and credential parsing) and ``control`` (the /_sandbox/ plumbing and
its shared routes). A provider's package (``quickbooks``, ``square``) adds its own routes, data
and answers on top.
"""
