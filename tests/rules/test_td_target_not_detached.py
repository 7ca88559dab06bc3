"""td-target-not-detached: r + gamma * Q(s') computed with gradients by the network being fitted."""
import pytest

from conftest import findings, lines

RULE = "td-target-not-detached"

BUGGY = [
    ("dqn_one_network", """\
import torch.nn.functional as F

def update(model, optimizer, batch, gamma=0.99):
    state, action, reward, next_state, done = batch
    q = model(state).gather(1, action.unsqueeze(1)).squeeze(1)
    next_q = model(next_state).max(1)[0]
    target = reward + gamma * next_q * (1 - done)
    loss = F.mse_loss(q, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
""", [6]),
    ("critic_td_target_in_a_method", """\
import torch.nn.functional as F

class ActorCritic(nn.Module):
    def train_net(self, s, a, r, s_prime, done):
        td_target = r + gamma * self.v(s_prime) * done
        loss = F.smooth_l1_loss(self.v(s), td_target)
        loss.mean().backward()
""", [5]),
    ("squared_difference_written_out", """\
def compute_td_loss(model, batch, gamma):
    state, action, reward, next_state, done = batch
    q_values = model(state)
    next_q_values = model(next_state)
    q_value = q_values.gather(1, action.unsqueeze(1)).squeeze(1)
    next_q_value = next_q_values.max(1)[0]
    expected = reward + gamma * next_q_value * (1 - done)
    return ((q_value - expected) ** 2).mean()
""", [4]),
    ("pow_and_criterion_object", """\
import torch

class Agent:
    def __init__(self):
        self.criterion = torch.nn.MSELoss()
        self.gamma = 0.9

    def learn(self, s, a, r, s_, d):
        q_eval = self.q_eval(s).gather(1, a)
        q_next = self.q_eval(s_).max(1)[0]
        q_target = r + self.gamma * q_next
        loss = self.criterion(q_eval, q_target)
        loss.backward()

    def learn2(self, s, a, r, s_, d):
        q = self.q_eval(s).gather(1, a)
        y = r + self.gamma * self.q_eval.forward(s_).max(1)[0]
        (q - y).pow(2).mean().backward()
""", [10, 17]),
    ("target_first_argument", """\
def update(net, s, a, r, s2, discount):
    y = r + discount * net(s2).max(dim=1).values
    loss = F.mse_loss(y, net(s).gather(1, a))
    loss.backward()
""", [2]),
    ("torch_file_that_also_imports_tensorflow", """\
import tensorflow as tf
import torch.nn.functional as F

def update(model, s, a, r, s2, gamma):
    y = r + gamma * model(s2).max(1)[0]
    return F.mse_loss(model(s).gather(1, a), y)
""", [5]),
]

CORRECT = [
    ("target_network", """\
def update(model, target_net, batch, gamma=0.99):
    state, action, reward, next_state, done = batch
    q = model(state).gather(1, action.unsqueeze(1)).squeeze(1)
    next_q = target_net(next_state).max(1)[0]
    target = reward + gamma * next_q * (1 - done)
    F.mse_loss(q, target).backward()
"""),
    ("under_no_grad", """\
import torch

def update(model, batch, gamma=0.99):
    state, action, reward, next_state, done = batch
    q = model(state).gather(1, action.unsqueeze(1)).squeeze(1)
    with torch.no_grad():
        next_q = model(next_state).max(1)[0]
    target = reward + gamma * next_q * (1 - done)
    F.mse_loss(q, target).backward()
"""),
    ("detached_where_made_or_where_used", """\
def update(model, batch, gamma):
    s, a, r, s2, d = batch
    q = model(s).gather(1, a)
    y = (r + gamma * model(s2).max(1)[0]).detach()
    F.smooth_l1_loss(q, y).backward()
    y2 = r + gamma * model(s2).max(1)[0]
    loss = (q - y2.detach()).pow(2).mean()
    y3 = r + gamma * model(s2).max(1)[0].data
    F.mse_loss(q, y3).backward()
"""),
    ("minimalrl_actor_critic_detaches_at_the_loss", """\
class ActorCritic(nn.Module):
    def train_net(self, s, a, r, s_prime, done):
        td_target = r + gamma * self.v(s_prime) * done
        delta = td_target - self.v(s)
        pi_a = self.pi(s, softmax_dim=1).gather(1, a)
        loss = -torch.log(pi_a) * delta.detach() + F.smooth_l1_loss(self.v(s), td_target.detach())
        loss.mean().backward()
"""),
    ("double_dqn_picks_with_argmax", """\
def ddqn(model, target_model, batch, gamma):
    s, a, r, s2, d = batch
    q = model(s).gather(1, a)
    best = model(s2).argmax(1, keepdim=True)
    y = r + gamma * target_model(s2).gather(1, best) * (1 - d)
    best2 = model(s2).max(1)[1].unsqueeze(1)
    y2 = r + gamma * target_model(s2).gather(1, best2) * (1 - d)
    return F.smooth_l1_loss(q, y) + F.smooth_l1_loss(q, y2)
"""),
    ("no_discount_not_a_td_target", """\
def consistency(model, x, x_next):
    return F.mse_loss(model(x), model(x_next))
"""),
    ("same_state_twice", """\
def update(model, s, r, gamma):
    y = r + gamma * model(s).mean()
    return F.mse_loss(model(s), y)
"""),
    ("helper_functions_of_the_file_and_imported", """\
from utils import to_tensor

def prep(x):
    return x.float()

def update(model, target_net, s, a, r, s_next, gamma):
    q = model(prep(to_tensor(s))).gather(1, a)
    y = r + gamma * target_net(prep(to_tensor(s_next))).max(1)[0]
    return F.mse_loss(q, y)
"""),
    ("tf1_target_in_stop_gradient", """\
import tensorflow as tf

def sac_losses(actor_critic, x_ph, a_ph, x2_ph, r_ph, d_ph, gamma, alpha):
    with tf.variable_scope('main'):
        pi, logp_pi, q1 = actor_critic(x_ph, a_ph)
    with tf.variable_scope('target'):
        _, _, q1_targ = actor_critic(x2_ph, pi)
    backup = tf.stop_gradient(r_ph + gamma * (1 - d_ph) * (q1_targ - alpha * logp_pi))
    return 0.5 * tf.reduce_mean((backup - q1) ** 2)
"""),
    ("tensorflow_file_without_stop_gradient", """\
import tensorflow as tf

def td_loss(q_net, s, a, r, s_next, gamma):
    y = r + gamma * tf.reduce_max(q_net(s_next), axis=1)
    return tf.reduce_mean((q_net(s) - y) ** 2)
"""),
    ("stop_gradient_cuts_in_any_file", """\
def td_loss(model, s, a, r, s_next, gamma):
    y = stop_gradient(r + gamma * model(s_next).max(1)[0])
    return F.mse_loss(model(s).gather(1, a), y)
"""),
    ("whole_loss_under_no_grad", """\
import torch

with torch.no_grad():
    td_error = F.mse_loss(model(s), r + gamma * model(s_next).max(1)[0])
"""),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_and_related_locations():
    (f,) = findings(BUGGY[0][1], RULE)
    assert "`model`" in f.message and "torch.no_grad()" in f.message and ".detach()" in f.message
    assert [r.location.line + 1 for r in f.related] == [5, 8]   # the prediction, the loss
    assert f.concept == "autograd-graph"
