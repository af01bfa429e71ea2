"""Teaching: the derivative from first principles, tangent lines, critical points,
pictures of f and f', and exercise sheets with worked solutions.

``first_principles``, ``tangent_line`` and ``critical_points`` build on the step
engine alone (:mod:`derivkit.calculus`); ``exercises`` draws problems for every
topic of the course and solves each with derivkit itself (derivations, chains,
descent tables, backprop), so it sits above the rest of the library.
"""
