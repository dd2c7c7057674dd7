"""A text box that offers the vocabulary's terms (farms.vocabulary) in the reader's language as a
list to pick from, and still takes any other text: an `<input list>` with its `<datalist>`, which
needs no script (the farmer's pages run under `script-src 'self'` and offline)."""

from django import forms
from django.utils.translation import get_language

from farms import vocabulary


class TermInput(forms.TextInput):
    template_name = "farms/widgets/term_input.html"

    def __init__(self, kind: str, attrs=None):
        super().__init__(attrs)
        self.kind = kind

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        terms_id = f"{context['widget']['attrs'].get('id') or name}-terms"
        context["widget"]["attrs"]["list"] = terms_id
        context["widget"]["terms_id"] = terms_id
        # Picked in the reader's language; recorded in the vocabulary's Chinese (vocabulary.recorded).
        context["widget"]["terms"] = [label for _zh, label in vocabulary.choices(self.kind, get_language() or "")]
        return context
