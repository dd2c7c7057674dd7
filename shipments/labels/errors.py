"""What goes wrong when labels are asked for: one error type whose message is fit to show a user."""


class LabelError(ValueError):
    """Labels cannot be made as asked. `message` is for people; `field` names the bad input, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = [self]  # render_labels puts every problem with the request here, this one first


class FontMissing(LabelError):
    pass


def first(errors: list[LabelError]) -> LabelError:
    """The first of `errors`, carrying all of them in its `errors`."""
    errors[0].errors = errors
    return errors[0]
