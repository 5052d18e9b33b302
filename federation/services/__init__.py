"""The cooperative services, above the protocol machinery of `federation/`: accounts, follows,
offers, search and the instance directory. They use signatures, delivery and the inbox; the
protocol modules never import them (an import-linter contract checks it). Their inbox handlers are
registered from here (`handlers.py`), so `federation/inbox.py` knows no service."""
