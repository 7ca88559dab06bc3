"""A Keras MNIST classifier with a validation split and a binary side model. Correct code."""
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

num_classes = 10
input_shape = (28, 28, 1)

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
model.summary()
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=128, epochs=15, validation_split=0.1)
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])

# A logits model trained with from_logits=True, probabilities only for reporting.
logits_model = tf.keras.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation="relu"),
    tf.keras.layers.Dropout(0.2),
    tf.keras.layers.Dense(10),
])
loss_fn = tf.keras.losses.CategoricalCrossentropy(from_logits=True)
logits_model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
logits_model.fit(x_train[..., 0], y_train, epochs=5)
probability_model = tf.keras.Sequential([logits_model, tf.keras.layers.Softmax()])
print(probability_model(x_test[:5, ..., 0]))

# "Is it a zero?": one sigmoid unit with binary cross-entropy.
inputs = keras.Input(shape=(28, 28, 1))
x = layers.Flatten()(inputs)
x = layers.Dense(64, activation="relu")(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
binary = keras.Model(inputs, outputs)
binary.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
binary.fit(x_train, (y_train.argmax(1) == 0).astype("float32"), epochs=2)
