"""Kept only for ``instance/routes/settings.py`` and ``admin.py``, which import
``translate_message`` from here: the offer forms live in ``instance/forms/``. Import from
``instance.forms.messages`` instead, then delete this module."""

from __future__ import annotations

from instance.forms.messages import translate_message

__all__ = ["translate_message"]
