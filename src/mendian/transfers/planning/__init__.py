"""Pure transfer planning (no Django): the planner, its MIP bound, sourcing and vehicle routes."""
