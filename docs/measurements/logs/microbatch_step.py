"""Seconds per SGD step of a ResNet-9 w16 (channels_last, random 32x32 inputs, 2 threads) at batch 256, done
in one pass or as 2, 4 or 8 accumulated micro-batches (BatchNorm statistics per micro-batch: a "ghost batch",
as per-GPU BatchNorm in data-parallel training), and the eval-mode forward of 1000 images at several batch
sizes. Usage, on a quiet machine: python docs/measurements/logs/microbatch_step.py
"""
import time, torch
from llc_lib.engine.models import resnet9
torch.manual_seed(0)
net = resnet9(16).to(memory_format=torch.channels_last)
head = torch.nn.Linear(128, 100)
opt = torch.optim.SGD(list(net.parameters())+list(head.parameters()), lr=0.1, momentum=0.9)
x = torch.randn(256, 3, 32, 32).contiguous(memory_format=torch.channels_last); y = torch.randint(0, 100, (256,))
def step(micro):
    opt.zero_grad()
    for s in range(0, 256, micro):
        loss = torch.nn.functional.cross_entropy(head(net(x[s:s+micro])), y[s:s+micro]) * micro / 256
        loss.backward()
    opt.step()
for micro in (256, 128, 64, 32, 256):
    step(micro)
    t = time.time()
    for _ in range(5): step(micro)
    print(micro, (time.time()-t)/5)
with torch.no_grad():
    net.eval()
    xx = torch.randn(1000,3,32,32).contiguous(memory_format=torch.channels_last)
    for bs in (1000, 256, 128, 100, 64, 32):
        t=time.time()
        for s in range(0,1000,bs): net(xx[s:s+bs])
        print("eval", bs, time.time()-t)
