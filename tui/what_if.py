"""The debugger's what-if prompts: what each asks, and the run an answer makes."""

from __future__ import annotations

from nnsim.i18n import N_, _
from nnsim.session import Session

#: what each what-if asks: (question, example shown as a placeholder)
QUESTIONS = {
    "lr": (N_("New learning rate"), N_("a number > 0, e.g. 0.01")),
    "optimizer": (N_("New optimiser"), N_("sgd, adagrad, rmsprop or adam")),
    "activation": (N_("Replace an activation: OLD NEW"), N_("e.g. sigmoid relu")),
    "init": (N_("New initialisation for every layer with weights"), N_("e.g. he_normal")),
    "maximise": (N_("Maximise which class (its number)?"), N_("e.g. 3")),
}


def changed_session(session: Session, kind: str, answer: str) -> Session:
    """The what-if session ``answer`` asks for (ValueError or ScenarioError if it cannot)."""
    if kind == "lr":
        try:
            lr = float(answer)
        except ValueError:
            raise ValueError(_("{answer} is not a number").format(answer=repr(answer))) from None
        return session.what_if(lr=lr)
    if kind == "optimizer":
        return session.what_if(optimizer=answer)
    if kind == "activation":
        names = answer.split()
        if len(names) != 2:
            raise ValueError(_("give two activations, the old and the new: e.g. sigmoid relu"))
        return session.what_if(activation=(names[0], names[1]))
    return session.what_if(init=answer)
