from pathlib import PurePath

from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from PIL import Image

from farms import images
from traceability.models import TraceEvent


class Command(BaseCommand):
    help = (
        "Bring stored photos to the current pipeline (farms/images.py): a model's photo stored before "
        "renditions existed is re-encoded under a new name with its renditions (the old file goes); a "
        "quality test's report photo keeps its name (the event's data is append-only) and is re-encoded "
        "in place, so no EXIF stays (the API once stored those as sent); missing renditions are remade. "
        "Idempotent: a second run changes nothing."
    )

    def handle(self, *args, **options):
        done = {"re-encoded": 0, "renditions remade": 0, "unreadable": 0}
        for model in apps.get_models():
            for field in model._meta.get_fields():
                if isinstance(field, images.PhotoField):
                    self.model_photos(model, field, done)
        for event in TraceEvent.objects.filter(data__has_key="photo").only("data").iterator():
            name = event.data.get("photo")
            if isinstance(name, str) and name:
                self.event_photo(name, done)
        self.stdout.write(", ".join(f"{what}: {count}" for what, count in done.items()))

    def model_photos(self, model, field, done) -> None:
        for obj in model._base_manager.exclude(**{field.name: ""}).iterator():
            file = getattr(obj, field.name)
            try:
                if images.Photo.of(file.name) is None:
                    with file.open("rb") as handle:
                        content = ContentFile(handle.read(), name=PurePath(file.name).name)
                    file.save(content.name, content, save=True)  # the old file goes once saved
                    done["re-encoded"] += 1
                elif images.missing_renditions(file.storage, file.name):
                    images.remake_renditions(file.storage, file.name)
                    done["renditions remade"] += 1
            except (OSError, images.forms.ValidationError) as exc:
                done["unreadable"] += 1
                self.stderr.write(f"{model.__name__} {obj.pk}: {file.name}: {exc}")

    def event_photo(self, name: str, done) -> None:
        try:
            if images.Photo.of(name) is None:
                with default_storage.open(name) as handle:
                    content = ContentFile(handle.read(), name=PurePath(name).name)
                with Image.open(content) as image:  # re-encoded already (the event form did): leave it
                    if image.format == "JPEG" and not image.getexif() and max(image.size) <= images.LONG_SIDE:
                        return
                photo = images.reencode(content)
                default_storage.delete(name)
                default_storage.save(name, photo)
                done["re-encoded"] += 1
            elif images.missing_renditions(default_storage, name):
                images.remake_renditions(default_storage, name)
                done["renditions remade"] += 1
        except (OSError, Image.UnidentifiedImageError, images.forms.ValidationError) as exc:
            done["unreadable"] += 1
            self.stderr.write(f"quality test photo {name}: {exc}")
