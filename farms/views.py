"""The village coordinator's pages: the village's public page content, its farms and their fields.

Every object is looked up through the user's scope (Membership.objects.village_ids with the
coordinator role, Farm.objects.managed_by), so another village's object answers 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from farms.forms import FarmForm, FieldForm, VillagePageForm
from farms.models import Farm, Field, Village


@login_required
def village_list(request: HttpRequest) -> HttpResponse:
    villages = list(Village.objects.managed_by(request.user).order_by("code"))
    if not villages:
        raise Http404
    if len(villages) == 1:
        return redirect("village_edit", code=villages[0].code)
    return render(request, "farms/village_list.html", {"villages": villages})


@login_required
def village_edit(request: HttpRequest, code: str) -> HttpResponse:
    village = get_object_or_404(Village.objects.managed_by(request.user), code=code)
    form = VillagePageForm(request.POST or None, request.FILES or None, instance=village)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The village page is saved."))
        return redirect("village_edit", code=village.code)
    return render(request, "farms/village_form.html", {"village": village, "form": form})


@login_required
def farm_list(request: HttpRequest) -> HttpResponse:
    villages = Village.objects.managed_by(request.user)
    if not villages.exists():
        raise Http404
    farms = Farm.objects.managed_by(request.user).select_related("village").prefetch_related("fields")
    return render(request, "farms/farm_list.html", {"farms": farms})


@login_required
def farm_create(request: HttpRequest) -> HttpResponse:
    villages = Village.objects.managed_by(request.user)
    if not villages.exists():
        raise Http404
    form = FarmForm(
        request.POST or None, request.FILES or None, villages=villages, initial={"village": villages.first()}
    )
    if request.method == "POST" and form.is_valid():
        farm = form.save()
        messages.success(request, _("Farm %(name)s is added.") % {"name": farm.name_zh})
        return redirect("farm_edit", pk=farm.pk)
    return render(request, "farms/farm_form.html", {"form": form, "farm": None})


@login_required
def farm_edit(request: HttpRequest, pk: int) -> HttpResponse:
    farm = get_object_or_404(Farm.objects.managed_by(request.user), pk=pk)
    form = FarmForm(
        request.POST or None, request.FILES or None, instance=farm, villages=Village.objects.managed_by(request.user)
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The farm is saved."))
        return redirect("farm_edit", pk=farm.pk)
    field_form = FieldForm(farm=farm)
    return render(request, "farms/farm_form.html", {"form": form, "farm": farm, "field_form": field_form})


@login_required
def field_create(request: HttpRequest, farm_pk: int) -> HttpResponse:
    farm = get_object_or_404(Farm.objects.managed_by(request.user), pk=farm_pk)
    form = FieldForm(request.POST or None, request.FILES or None, farm=farm)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Field %(name)s is added.") % {"name": form.instance.name_zh})
        return redirect("farm_edit", pk=farm.pk)
    return render(request, "farms/field_form.html", {"form": form, "farm": farm, "field": None})


@login_required
def field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    field = get_object_or_404(Field.objects.filter(farm__in=Farm.objects.managed_by(request.user)), pk=pk)
    form = FieldForm(request.POST or None, request.FILES or None, instance=field, farm=field.farm)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The field is saved."))
        return redirect("farm_edit", pk=field.farm_id)
    return render(request, "farms/field_form.html", {"form": form, "farm": field.farm, "field": field})
