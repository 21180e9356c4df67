


cam-0042mqtt:subscribedevices/+/cmd/#