"""Value families: each module defines cleaners (raise ``ValueError`` with a reason) and
``matchable`` predicates on clean values. :mod:`grotius.correlate.types` assembles them."""
