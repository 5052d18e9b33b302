"""The offer forms of the web pages, built from the offer description (activitypub.offer_schema).

``labels`` (names shown for values), ``layout`` (fieldsets and inputs, with their bounds and
labels taken from the description), ``read`` (a posted form → a checked description),
``prefill`` (a description → the form's values), ``messages`` (error codes through the
catalogue), ``display`` (the template helpers), ``places`` (places typed by name, confirmed).
"""
