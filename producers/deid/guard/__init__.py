"""PII guard: the last check on the exact bytes that would go to Kafka.

Scrubbing and generalization should already have removed every identifier; the guard
proves it on the serialized record (key, value and every header) before it is signed and
sent, and raises :class:`~producers.errors.PiiLeak` naming the raw field, never the value.

It looks for two things:

* **the record's own identifier values**, each in the spellings a leak would take: as
  written, upper case, title case, without diacritics; SSN, phone and account digits bare
  and in the usual separators; the date of birth in a dozen numeric and textual formats; the
  e-mail address in any case; JSON ``\\u`` escapes of non-ASCII values;
* **generic shapes** any identifier of a kind has: a formatted SSN, an e-mail address, a
  formatted US phone number.

Choices that keep it fast and free of false alarms (it runs on every event):

* Needles are computed once per record (:class:`PiiGuard`) and searched in the record's
  fields joined into one buffer. The needles of one value (a name, a street, a phone
  number, a date of birth) are a pure function of it and kept in small bounded in-memory
  caches, since the same people and places recur from event to event (a journey is several
  events of one person).
* A needle is only searched when its longest letter or digit run occurs in the buffer as a
  whole run (a necessary condition, see ``_Plan``), and the generic shapes only when a cheap
  hint says one may occur: most events settle with one translation of the buffer and a few
  C-level finds, with exactly the verdict of the full scan.
* Words (names, street, city) only match as whole words (no ASCII letter and no non-ASCII
  byte on either side): "Ann" inside "Annual" is not a disclosure of the name Ann. Name
  parts shorter than three letters are not searched at all: "Al", "Li" or "Ng" also spell
  state codes ("AL") and ordinary text; free-text scrubbing still removes them.
* Words are not searched in lower case: the contract's own vocabulary (field names,
  life-experience and service slugs like ``having-a-child``) is lower case, and a person
  named Child or Key must still be able to publish. Scrubbing is case-insensitive, so a
  lower-case name never reaches the guard through free text.
* Short digit values (ZIP, short account numbers) only match between non-alphanumeric
  bytes and not as part of a decimal number, so a ZIP cannot be "found" inside a UUID, a
  token or a ``wait_seconds`` of 20001.0.
* Occurrences inside the caller's *opaque* values (the journey token: a keyed hash, random
  by construction) and inside scrubbing placeholders such as ``[NAME]`` are ignored.
* Streets and cities are searched as whole phrases only: "Main" or "Street" alone
  identifies nobody.

One consequence is deliberate: an event that happens on the person's date of birth (a
newborn's record on the day of birth) carries that date in ``occurred_at`` and is refused,
because publishing it would disclose the birth date.
"""

from producers.deid.guard.check import PiiGuard, guard
from producers.deid.guard.needles import MIN_WORD_LENGTH, Needle

__all__ = ["MIN_WORD_LENGTH", "Needle", "PiiGuard", "guard"]
